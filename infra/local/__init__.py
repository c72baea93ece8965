"""The local cloud: what AWS does for Meterplex, emulated on one laptop (`make dev`).

API Gateway (gateway), Lambda (functions), DynamoDB (moto, aws), the event source mappings
(stream_poller, kafka_poller), MSK (Tansu, kafka_broker) and EventBridge Scheduler (scheduler),
composed by `cloud.LocalCloud`. See docs/local-cloud.md.
"""
