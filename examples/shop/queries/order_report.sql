SELECT orders.id, orders.customer_id, orders.status,
       COUNT(order_items.sku) AS item_count, COALESCE(orders.total_cents, 0) AS total_cents
FROM orders
LEFT JOIN order_items ON order_items.order_id = orders.id
GROUP BY orders.id, orders.customer_id, orders.status, orders.total_cents
ORDER BY orders.id
