// Silence tfjs's "install the node backend" banner in test output (warnings only; no numerical effect).
import * as tf from "@tensorflow/tfjs"

tf.env().set("PROD", true)
