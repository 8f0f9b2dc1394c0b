"""The admin's command line: `listd COMMAND`."""
