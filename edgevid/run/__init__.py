"""Running: device profiles and typed settings, bench (one configuration after another on one
device), sessions (fresh processes), several devices at once, the op-support matrix and the study."""
