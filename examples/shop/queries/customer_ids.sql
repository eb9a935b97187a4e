SELECT id FROM customers ORDER BY id
