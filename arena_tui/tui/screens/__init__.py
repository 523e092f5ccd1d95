"""The console screen (layout and event rendering) and the help screen."""
