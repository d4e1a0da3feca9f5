"""Trains a small PyTorch classifier on data/seattle-weather.csv and exports it to ONNX the way
ModelOps expects: opset 17, batch as the only dynamic dimension, standardisation inside the
graph, labels and column order in metadata_props. Needs torch, onnx, pandas, numpy.

    python export/export_pytorch.py data/seattle-weather.csv models/weather-mlp-v3.onnx
"""
import json
import sys

import numpy as np
import onnx
import pandas as pd
import torch

csv, out = sys.argv[1], sys.argv[2]
FEATURES = ["precipitation", "temp_max", "temp_min", "wind"]
df = pd.read_csv(csv)
LABELS = sorted(df["weather"].unique().tolist())
x = df[FEATURES].to_numpy(np.float32)
y = torch.tensor([LABELS.index(v) for v in df["weather"]])
mu, sd = x.mean(0), x.std(0) + 1e-6


class Classifier(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.register_buffer("mu", torch.tensor(mu))
        self.register_buffer("sd", torch.tensor(sd))
        self.net = torch.nn.Sequential(torch.nn.Linear(4, 16), torch.nn.ReLU(), torch.nn.Linear(16, len(LABELS)))

    def forward(self, features):
        # Probabilities in LABELS order; the raw columns are standardised inside the graph.
        return torch.softmax(self.net((features - self.mu) / self.sd), dim=1)


torch.manual_seed(1)
model = Classifier()
opt = torch.optim.Adam(model.parameters(), lr=0.01)
xt = torch.tensor(x)
for _ in range(30):
    for i in range(0, len(xt), 32):
        opt.zero_grad()
        loss = torch.nn.functional.nll_loss(torch.log(model(xt[i : i + 32]) + 1e-9), y[i : i + 32])
        loss.backward()
        opt.step()

model.eval()
torch.onnx.export(
    model, (xt[:1],), out, input_names=["features"], output_names=["probabilities"],
    dynamic_axes={"features": {0: "batch"}, "probabilities": {0: "batch"}}, opset_version=17, dynamo=False,
)
m = onnx.load(out)
for k, v in {"labels": json.dumps(LABELS), "features": json.dumps(FEATURES), "task": "classification"}.items():
    p = m.metadata_props.add()
    p.key, p.value = k, v
onnx.save(m, out)
print(f"wrote {out}: register it with  modelops versions register {out} --config modelops.yaml")
