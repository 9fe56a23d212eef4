"""The reader: a small cross-encoder trained here that reads a question and a sentence together.

| module | concern |
| --- | --- |
| `encoding.py` | `[CLS] question [SEP] sentence [SEP]` word pieces and their characters (training and serving) |
| `model.py` | the torch network (MiniLM-L6 + LoRA adapters + span and answerable heads); training and export only |
| `weights/` | the trained adapters and heads (~3 MB) and how they were made (`reader.json`) |
"""
