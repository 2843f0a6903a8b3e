"""Project-local pytest settings only. The harness plugin registers itself via its entry point."""
