"""The console's widgets: each renders what the app hands it from engine events and never calls the engine."""
