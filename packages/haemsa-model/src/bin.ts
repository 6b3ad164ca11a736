#!/usr/bin/env node
/**
 * The `haemsa` executable.
 *
 * @since 0.1.0
 */
import * as tf from "@tensorflow/tfjs"
import { run } from "./cli/Cli"

// A command-line tool prints its own messages: silence tfjs's "install the node backend" banner.
tf.env().set("PROD", true)

run(process.argv.slice(2)).then((code) => {
  process.exitCode = code
})
