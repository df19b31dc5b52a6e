from bench.load.cli import main

main()
