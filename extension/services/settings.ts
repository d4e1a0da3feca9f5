/** The extension's settings (package.json `contributes.configuration`) as the commands read them. */
import * as vscode from 'vscode';

/** `modelops.training.backend`: which TensorFlow.js backend training, tuning and retraining use. */
export function backendSetting(): string {
  return vscode.workspace.getConfiguration('modelops').get<string>('training.backend', 'auto');
}
