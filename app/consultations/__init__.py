"""Consultations: themes, dated phases, support settings and the steering committee."""
