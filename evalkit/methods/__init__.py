"""Pure statistical methods, usable without a data package: survey variance, spatial access, networks."""
