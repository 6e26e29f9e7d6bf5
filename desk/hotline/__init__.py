"""The 10086-style hotline (四.(二)): fault reports and ticket status by phone and SMS, on Twilio."""
