"""Examples of pixverse_speech in use; their tests run with the suite."""
