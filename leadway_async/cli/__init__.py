"""The command line: `leadway-async search | export | emulator | demo`.

Also `python -m leadway_async`; the entry point is `leadway_async.cli.main:main`.
Nothing here is imported by `import leadway_async`.
"""
