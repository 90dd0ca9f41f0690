"""Reports, patrol tracks and the event catalogue coming in."""
