"""Use cases, one module each: they import only `grader.core`, `grader.ports` and the
standard library, and reach the world only through the ports in their Context."""
