/**
 * TensorFlow.js backend selection (./load) plus the `tf` namespace itself, loaded when this file
 * is: for code that always runs TF.js (the training worker, tests, benchmarks). Engine modules
 * that only sometimes need it import ./load and call `tfjs()` there, so that importing the engine
 * does not load TF.js.
 */
import * as tf from '@tensorflow/tfjs';

export * from './load';
export { tf };
