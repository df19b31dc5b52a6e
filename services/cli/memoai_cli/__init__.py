"""memoai_cli"""
