/**
 * The `FusionFactory` service: how a model builder gets its hierarchy, task attention and towers.
 * A user swaps any of them with `Layer.succeed(FusionFactory, { hierarchy, attention, tower })`.
 *
 * @since 0.1.0
 */
import type { Module } from "@haemsa/nn"
import type * as tf from "@tensorflow/tfjs"
import { Context, Layer } from "effect"
import { makeHierarchy } from "./Hierarchy"
import type { HierarchyConfig, HierarchyInput, HierarchyOutput } from "./Hierarchy"
import { makeTaskAttention } from "./TaskAttention"
import type { TaskAttentionConfig, TaskAttentionInput, TaskAttentionOutput } from "./TaskAttention"
import { makeTower } from "./Tower"
import type { TowerConfig } from "./Tower"

/** What a fusion factory provides. The constructors throw `FusionError` on a bad config. */
export interface FusionFactoryShape {
  /** The hierarchical fusion levels. */
  readonly hierarchy: (config: HierarchyConfig, seeds: Module.SeedSource) => Module.Module<HierarchyInput, HierarchyOutput>
  /** The task-driven attention over the expert outputs. */
  readonly attention: (
    config: TaskAttentionConfig,
    seeds: Module.SeedSource
  ) => Module.Module<TaskAttentionInput, TaskAttentionOutput>
  /** One task tower. */
  readonly tower: (config: TowerConfig, inDim: number, seeds: Module.SeedSource) => Module.Module<tf.Tensor2D, tf.Tensor2D>
}

/** Builds fusion modules from configs. `FusionFactory.layer` provides the built-in ones. */
export class FusionFactory extends Context.Service<FusionFactory, FusionFactoryShape>()(
  "@haemsa/hierarchical-fusion/FusionFactory"
) {
  /** The built-in hierarchy, task attention and towers. */
  static readonly builtIn: FusionFactoryShape = { hierarchy: makeHierarchy, attention: makeTaskAttention, tower: makeTower }
  /** Provides {@link FusionFactory.builtIn}. */
  static readonly layer = Layer.succeed(FusionFactory, FusionFactory.builtIn)
}
