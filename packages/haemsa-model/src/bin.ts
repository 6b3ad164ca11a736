#!/usr/bin/env node
/**
 * The `haemsa` executable.
 *
 * @since 0.1.0
 */
import { run } from "./Cli"

run(process.argv.slice(2)).then((code) => {
  process.exitCode = code
})
