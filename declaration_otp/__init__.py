"""declaration-otp: eHealth Declaration Request V3 one-time codes."""
