/**
 * The kernels a computation runs, by name, as tfjs's engine dispatches them (nested ones included).
 */
import * as tf from "@tensorflow/tfjs"

/** The names of the kernels `f` runs, in order (`engine().runKernel` wrapped while it runs). */
export const kernelNames = (f: () => void): Array<string> => {
  const names: Array<string> = []
  const engine = tf.engine() as unknown as { runKernel: (name: string, ...rest: Array<unknown>) => unknown }
  const run = engine.runKernel
  engine.runKernel = (name, ...rest) => {
    names.push(name)
    return run.call(engine, name, ...rest)
  }
  try {
    f()
  } finally {
    engine.runKernel = run
  }
  return names
}
