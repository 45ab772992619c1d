"""Pure statistical methods, usable without a data package: survey variance, survival (Kaplan-Meier), spatial access, networks, inequality and targeting."""
