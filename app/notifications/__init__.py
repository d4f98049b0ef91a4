"""Notifications: which mails each person wants, the reminders the scheduler sends, one-click unsubscribe."""
