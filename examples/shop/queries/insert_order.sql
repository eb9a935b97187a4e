INSERT INTO orders (customer_id, status) VALUES (?, ?) RETURNING id
