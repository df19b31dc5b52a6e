"""memoai_web"""
