# Das eine Zeitformat des Portals (Seiten und Admin), auf die Sekunde: 2.12.2026, 14:05:09.
DATETIME_FORMAT = "j.n.Y, H:i:s"
SHORT_DATETIME_FORMAT = "j.n.Y, H:i"
DATE_FORMAT = "j.n.Y"
TIME_FORMAT = "H:i:s"
