"""Publishes one message the hub's AMQP client (lapin) cannot parse, as a careless partner's
client could: a short-string property, a header name or the routing key that is not UTF-8.
RabbitMQ accepts and forwards such a message; lapin drops the connection that receives it.

usage: publish_unparseable.py AMQP_URL EXCHANGE ROUTING_KEY VARIANT
VARIANT: message-id | correlation-id | type | header-name | routing-key
"""

import sys

import pika

NOT_UTF8 = b"\xff\xfe"


def main(url: str, exchange: str, routing_key: str, variant: str) -> None:
    properties = {"message_id": "m-" + variant, "type": "hostile", "delivery_mode": 2}
    key = routing_key.encode()
    if variant == "message-id":
        properties["message_id"] = NOT_UTF8
    elif variant == "correlation-id":
        properties["correlation_id"] = NOT_UTF8
    elif variant == "type":
        properties["type"] = NOT_UTF8
    elif variant == "header-name":
        properties["headers"] = {NOT_UTF8: "value"}
    elif variant == "routing-key":
        key = key + b"." + NOT_UTF8
    else:
        sys.exit(f"unknown variant {variant}")
    connection = pika.BlockingConnection(pika.URLParameters(url))
    channel = connection.channel()
    channel.confirm_delivery()
    channel.basic_publish(
        exchange, key, b'{"hostile": true}', pika.BasicProperties(**properties), mandatory=True
    )
    connection.close()


if __name__ == "__main__":
    main(*sys.argv[1:])
