"""One module per format family; each runs only inside the sandbox child."""
