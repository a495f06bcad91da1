"""The host: organizer's client that admits joiners, holds the keys and shares the screen."""
