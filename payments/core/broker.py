"""RabbitMQ topology of the service: quorum queues on topic exchanges, and their dead-letter queue.

Used only when CELERY_BROKER_URL is amqp:// (config/settings/base.py). Nothing here runs on
Redis, whose queues are plain lists without acknowledgements or dead-lettering.

Why each queue argument (https://www.rabbitmq.com/docs/quorum-queues):

* ``x-queue-type: quorum``: replicated with Raft; a message survives a broker node's loss.
* ``x-delivery-limit``: a message returned to the queue more often than this (a pool child
  killed on every attempt, with ``task_reject_on_worker_lost``) is dead-lettered instead of
  looping. Our own claim counter (PAYMENTS_MAX_CLAIMS) normally parks such an order first; the
  limit is the broker's backstop for messages that never reach a claim.
* ``x-dead-letter-exchange`` / ``x-dead-letter-routing-key``: where such a message goes, the
  durable ``dead_letter`` queue, kept for a human (nothing consumes it; the order itself stays
  in the database and the reconciler re-dispatches it while it is not terminal).
"""

from kombu import Exchange, Queue

DEAD_LETTER_EXCHANGE = "dead_letter"
DEAD_LETTER_QUEUE = "dead_letter"


def dead_letter_queue():
    return Queue(DEAD_LETTER_QUEUE, Exchange(DEAD_LETTER_EXCHANGE, type="topic", durable=True),
                 routing_key="#", durable=True, queue_arguments={"x-queue-type": "quorum"})


def rabbitmq_queues(names, delivery_limit):
    """One quorum queue per name, each bound with its own name as routing key to its own topic exchange."""
    queues = []
    for name in names:
        queues.append(Queue(
            name, Exchange(name, type="topic", durable=True), routing_key=name, durable=True,
            queue_arguments={
                "x-queue-type": "quorum",
                "x-delivery-limit": delivery_limit,
                "x-dead-letter-exchange": DEAD_LETTER_EXCHANGE,
                "x-dead-letter-routing-key": name,
            },
        ))
    return queues


def declare_dead_letter_queue(app):
    """Declare the dead-letter exchange and queue (idempotent); a no-op unless the broker is AMQP."""
    with app.connection_for_write() as conn:
        if conn.transport.driver_type != "amqp":
            return False
        dead_letter_queue()(conn.default_channel).declare()
        return True
