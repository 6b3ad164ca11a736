/**
 * The flags several commands share, declared once: the backend flags of the commands that run tensors
 * (`train`, `eval`, `predict`, `search`: `--backend B`, default wasm, and `--allow-software-adapter`),
 * the data flags of the commands that read a dataset (`train`, `eval`, `search`: `--data` and
 * `--max-pickle-objects`; `data inspect`: `--max-pickle-objects`), `--modalities` and `--json`. A
 * command's environment is set up on the backend its flags name before its handler runs.
 *
 * @since 0.1.0
 */
import type { Dataset, DatasetLoader } from "@haemsa/datasets"
import { BACKENDS } from "../backends/Backend"
import * as Args from "./Args"

/** The backend a command line asks for, and whether a software/fallback webgpu adapter is allowed. */
export interface BackendChoice {
  readonly backend: string
  readonly allowSoftwareAdapter: boolean
}

/** `--backend B` (a string: an unknown backend is a failed run, exit 1, reported by the `Backend` service) and `--allow-software-adapter`. */
export const backendFlags: {
  readonly backend: Args.Flag<string>
  readonly "allow-software-adapter": Args.Flag<boolean>
} = {
  backend: Args.string({ metavar: "B", default: "wasm", help: `the tensor backend: ${BACKENDS.join(", ")}` }),
  "allow-software-adapter": Args.flag({ help: "let --backend webgpu run on a software/fallback adapter (llvmpipe/lavapipe, SwiftShader)" })
}

/** The choice in parsed {@link backendFlags}. */
export const backendChoice = (values: Args.Values<typeof backendFlags>): BackendChoice => ({
  backend: values.backend,
  allowSoftwareAdapter: values["allow-software-adapter"]
})

/** The choice of a command that does no tensor work (e.g. `data inspect`): cpu starts instantly. */
export const NO_TENSORS: BackendChoice = { backend: "cpu", allowSoftwareAdapter: false }

/** `--data`: `synthetic` (default), `mosi-real`, or a dataset file or folder (see `DataSource`). */
export const data: Args.Flag<string> = Args.string({
  metavar: "synthetic|mosi-real|PATH",
  default: "synthetic",
  help: "the data: synthetic, mosi-real (the @haemsa/mosi-real package or $HAEMSA_MOSI_REAL), or a dataset file or folder"
})

/**
 * `--max-pickle-objects N`: the most Python objects the pickle reader may build from a `.pkl` file
 * or a mosi-real folder's audio pickle (`Pickle.Limits.maxObjects`; default `Pickle.defaultMaxObjects`).
 */
export const maxPickleObjects: Args.Flag<number | undefined> = Args.int({
  metavar: "N",
  min: 1,
  help: "the most Python objects a data pickle may build (default 250000, or one per 16 bytes of the file when more)"
})

/** The flags of the commands that read a dataset: `--data` and `--max-pickle-objects`. */
export const dataFlags: {
  readonly data: Args.Flag<string>
  readonly "max-pickle-objects": Args.Flag<number | undefined>
} = { data, "max-pickle-objects": maxPickleObjects }

/** The dataset loader's options a command line asks for (`--max-pickle-objects`), or undefined for the defaults. */
export const loadOptions = (values: { readonly "max-pickle-objects": number | undefined }): DatasetLoader.LoadOptions | undefined =>
  values["max-pickle-objects"] === undefined ? undefined : { pickleLimits: { maxObjects: values["max-pickle-objects"] } }

/** `--modalities t,a,v` (or full names): the modalities a model reads. */
export const modalities: Args.Flag<ReadonlyArray<Dataset.Modality> | undefined> = Args.list({
  metavar: "t,a,v",
  item: "modality",
  items: { text: ["t"], audio: ["a"], vision: ["v"] },
  help: "the modalities to use"
})

/** `--json FILE`: the command's report as JSON. */
export const json: Args.Flag<string | undefined> = Args.string({ metavar: "FILE", help: "write the report as JSON" })
