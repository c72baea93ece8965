"""`GET /health`: is the platform's DynamoDB and Kafka reachable from here?"""
