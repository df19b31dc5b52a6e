"""memoai_api"""
