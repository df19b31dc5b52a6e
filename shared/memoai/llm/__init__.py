"""LLM providers behind one small interface. Only claude.py imports the anthropic SDK."""
