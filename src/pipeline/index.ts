// The pipeline layer's public face: SQL-first multimodal pipelines. `connect()` gives SQL
// relations; UDF stages run on a chosen backend; a runner executes the plan a relation builds.

export { connect, Connection, type ConnectOptions, type SqlOptions, type DatasetOptions, type FunctionOptions } from './connection.js';
export { Relation, lineageOf, type ToTableOptions, type WriteDatasetOptions } from './relation.js';
export { configure, type PipelineConfig, type RunnerSetting } from './config.js';
export { registerRunner, type Runner, type RunContext } from './runner/index.js';
export { startWorker, type BullmqRunnerOptions, type WorkerOptions, type ClusterWorker } from './runner/bullmq/index.js';
export { backendNames, type BackendName } from './backend/index.js';
export type { Plan, StagePlan, SourcePlan, StageOptions, OnError } from './plan.js';
export type { RunReport, StageReport } from './report.js';
export type { ProgressOptions } from './progress.js';
export type { ParquetOptions } from './sink/parquet-sink.js';
export type { TableMode } from './sink/table-sink.js';
export type { SchemaSpec, ColumnSpec } from './schema.js';
export type { Udf, UdfModuleRef, UdfPlanRef } from './udf-ref.js';
export type { StageKind } from './udf-call.js';
export type { DatasetProvider, DatasetSource, DatasetSink, DatasetRef, DatasetVersion, DatasetLineage } from './dataset-seam.js';
export { QuiverDatasets, quiverTypeOf } from './datasets/quiver-datasets.js';
