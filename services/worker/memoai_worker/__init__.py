"""memoai_worker"""
