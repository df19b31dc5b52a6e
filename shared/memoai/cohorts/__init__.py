"""Coaches and cohorts: cohorts and memberships, assignments with pinned rubrics,
human review of AI feedback, analytics and the gradebook."""
