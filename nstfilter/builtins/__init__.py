"""Built-in behaviour, written as ordinary plugins so it can be replaced or disabled."""
