"""Coaching: progress over time, revision comparison, the PDF report and the chat."""
