# The portal's one time format (pages and admin), to the second: 2 Dec 2026, 14:05:09.
DATETIME_FORMAT = "j M Y, H:i:s"
SHORT_DATETIME_FORMAT = "j M Y, H:i"
DATE_FORMAT = "j M Y"
TIME_FORMAT = "H:i:s"
