"""After acceptance: take stored inbound mail and hand it to the part of listd that owns it."""
