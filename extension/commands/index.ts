/** Every command of the extension, with its trust requirement. Ids match package.json. */
import type { EndpointTreeProvider } from '../tree/endpointTree';
import type { ModelTreeProvider } from '../tree/modelTree';
import type { StatusBar } from '../statusBar';
import type { CommandSpec } from './command';
import { restartSidecar, showLog } from './sidecar';
import { init, openSample, validate } from './workspace';
import {
  archiveVersion,
  compareVersions,
  copyVersionUri,
  exportVersion,
  importVersion,
  promote,
  registerVersion,
  revealArtifact,
  rollbackAlias,
  showLineage,
  showVersionDetails,
} from './registry';
import { evaluate, predictFile, train } from './training';
import { showCharts } from './charts';
import { checkDrift, deploy, rollbackDeployment, setEndpointToken } from './deploy';
import { approve, explain, openModelCard, requestApprovalCommand, showFairness, showHistory } from './governance';
import { acknowledgeAlerts, checkoutDataset, retrainFromTraffic } from './monitoring';
import { prune, quantize, registerBestTrial, showStudy, tuneHyperparameters } from './optimize';

export interface Views {
  models: ModelTreeProvider;
  endpoints: EndpointTreeProvider;
  status: StatusBar;
}

export function allCommands(views: Views): CommandSpec[] {
  return [
    { id: 'modelops.init', factory: init },
    { id: 'modelops.openSample', factory: openSample },
    { id: 'modelops.validate', factory: validate },
    { id: 'modelops.registerVersion', factory: registerVersion },
    { id: 'modelops.promote', factory: promote },
    { id: 'modelops.rollbackAlias', factory: rollbackAlias },
    { id: 'modelops.compareVersions', factory: compareVersions },
    { id: 'modelops.showVersionDetails', factory: showVersionDetails },
    { id: 'modelops.showLineage', factory: showLineage },
    { id: 'modelops.copyVersionUri', factory: copyVersionUri },
    { id: 'modelops.revealArtifact', factory: revealArtifact },
    { id: 'modelops.archiveVersion', factory: archiveVersion },
    { id: 'modelops.exportVersion', factory: exportVersion },
    {
      id: 'modelops.importVersion',
      factory: importVersion,
      requiresTrust: true,
      trustReason: "Importing loads the archive's model to check it",
    },
    {
      id: 'modelops.train',
      factory: train,
      requiresTrust: true,
      trustReason: "Training reads the workspace's data and may run its trainer command",
    },
    {
      id: 'modelops.evaluate',
      factory: evaluate,
      requiresTrust: true,
      trustReason: 'Evaluation loads the model and data of this workspace',
    },
    {
      id: 'modelops.predictFile',
      factory: predictFile,
      requiresTrust: true,
      trustReason: 'Predicting loads the model and data of this workspace',
    },
    { id: 'modelops.showCharts', factory: showCharts },
    {
      id: 'modelops.deploy',
      factory: deploy,
      requiresTrust: true,
      trustReason: 'Deploying starts a model server or sends a model where the workspace configures',
    },
    {
      id: 'modelops.rollbackDeployment',
      factory: rollbackDeployment,
      requiresTrust: true,
      trustReason: 'Rolling back switches what an endpoint of this workspace serves',
    },
    { id: 'modelops.setEndpointToken', factory: setEndpointToken },
    { id: 'modelops.checkDrift', factory: checkDrift },
    {
      id: 'modelops.explain',
      factory: explain,
      requiresTrust: true,
      trustReason: 'Explaining runs the model on the data of this workspace',
    },
    { id: 'modelops.approve', factory: approve },
    { id: 'modelops.requestApproval', factory: requestApprovalCommand },
    { id: 'modelops.showHistory', factory: showHistory },
    { id: 'modelops.openModelCard', factory: openModelCard },
    { id: 'modelops.showFairness', factory: showFairness },
    {
      id: 'modelops.retrainFromTraffic',
      factory: retrainFromTraffic,
      requiresTrust: true,
      trustReason: "Retraining reads the endpoint's logged traffic and trains a model in this workspace",
    },
    { id: 'modelops.acknowledgeAlerts', factory: acknowledgeAlerts },
    {
      id: 'modelops.checkoutDataset',
      factory: checkoutDataset,
      requiresTrust: true,
      trustReason: 'Checking out a dataset writes a file from the workspace store',
    },
    {
      id: 'modelops.tune',
      factory: tuneHyperparameters(() => views.models.refresh()),
      requiresTrust: true,
      trustReason: 'Tuning trains models on the data this workspace names',
    },
    { id: 'modelops.showStudy', factory: showStudy },
    {
      id: 'modelops.registerBestTrial',
      factory: registerBestTrial,
      requiresTrust: true,
      trustReason: 'Registering a trial trains the model again on the data of this workspace',
    },
    {
      id: 'modelops.quantize',
      factory: quantize,
      requiresTrust: true,
      trustReason: 'Quantising loads and scores the model on the data of this workspace',
    },
    {
      id: 'modelops.prune',
      factory: prune,
      requiresTrust: true,
      trustReason: 'Pruning fine-tunes the model on the data of this workspace',
    },
    { id: 'modelops.restartSidecar', factory: restartSidecar },
    { id: 'modelops.showLog', factory: showLog },
    {
      id: 'modelops.refresh',
      factory: () => () => {
        views.models.refresh();
        views.endpoints.refresh();
      },
    },
    {
      id: 'modelops.loadMoreVersions',
      factory: () => (node?: unknown) => {
        if (node && typeof node === 'object' && 'model' in node && typeof node.model === 'string')
          return views.models.loadMore(node.model);
        return undefined;
      },
    },
  ];
}
