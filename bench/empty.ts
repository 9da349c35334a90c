/**
 * The floor of `--help` and of a usage error: a Deno script that does nothing (Deno's own start-up).
 *
 * @module
 */
