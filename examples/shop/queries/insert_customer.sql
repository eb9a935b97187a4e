INSERT INTO customers (email, name) VALUES (?, ?) RETURNING id
