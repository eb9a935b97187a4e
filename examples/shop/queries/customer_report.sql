SELECT customers.id, customers.email, customers.full_name,
       COUNT(orders.id) AS order_count, COALESCE(SUM(orders.total_cents), 0) AS spent_cents
FROM customers
LEFT JOIN orders ON orders.customer_id = customers.id
GROUP BY customers.id, customers.email, customers.full_name
ORDER BY customers.id
