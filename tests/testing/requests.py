"""Request builders shared by the FakeServer tests."""

from __future__ import annotations

from textgen.v1 import (
    dataset_pb2,
    dataset_service_pb2,
    model_service_pb2,
    text_pb2,
    tuned_model_pb2,
    tuned_model_service_pb2,
)

TEXT_MODEL = "models/text-bison-001"
TUNABLE_MODEL = "models/gemini-1.0-pro-001"


def generate_text(prompt: str = "Say hello.") -> model_service_pb2.GenerateTextRequest:
    return model_service_pb2.GenerateTextRequest(
        model=TEXT_MODEL, prompt=text_pb2.TextPrompt(text=prompt)
    )


def create_tuned_model(
    display_name: str = "My model", tuned_model_id: str | None = None
) -> tuned_model_service_pb2.CreateTunedModelRequest:
    examples = [
        tuned_model_pb2.TuningExample(text_input=str(n), output=str(n + 1)) for n in range(4)
    ]
    return tuned_model_service_pb2.CreateTunedModelRequest(
        tuned_model_id=tuned_model_id,
        tuned_model=tuned_model_pb2.TunedModel(
            display_name=display_name,
            base_model=TUNABLE_MODEL,
            tuning_task=tuned_model_pb2.TuningTask(
                training_data=tuned_model_pb2.TuningDataset(
                    examples=tuned_model_pb2.TuningExamples(examples=examples)
                ),
                hyperparameters=tuned_model_pb2.Hyperparameters(epoch_count=1, batch_size=2),
            ),
        ),
    )


def create_dataset(dataset_id: str = "prompts") -> dataset_service_pb2.CreateDatasetRequest:
    return dataset_service_pb2.CreateDatasetRequest(
        dataset=dataset_pb2.Dataset(display_name="Prompts"),
        dataset_id=dataset_id,
        rows=[dataset_pb2.DatasetPrompt(text="One."), dataset_pb2.DatasetPrompt(text="Two.")],
    )
