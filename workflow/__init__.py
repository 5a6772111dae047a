"""Workflow: owns cases, runs the closed loop (file → dispatch → … → close), deadlines, escalation and whistles."""
