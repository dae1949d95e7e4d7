-- castflow schema for MySQL 8 / MariaDB 10.11: the docker-compose mysql service runs it at first start.
-- GENERATED from common/models.py by `python -m common.schema > sql/schema.sql`. Do not edit by hand.
-- The API and the workers also create missing tables at start-up, so an empty database is enough.

CREATE TABLE IF NOT EXISTS batch_errors (
	id INTEGER NOT NULL AUTO_INCREMENT,
	batch_num INTEGER NOT NULL,
	line INTEGER NOT NULL,
	column_name VARCHAR(30) NOT NULL,
	value VARCHAR(200) NOT NULL,
	reason VARCHAR(200) NOT NULL,
	PRIMARY KEY (id)
)ENGINE=InnoDB CHARSET=utf8mb4;

CREATE INDEX ix_batch_errors_batch_line ON batch_errors (batch_num, line);

CREATE TABLE IF NOT EXISTS category_drift (
	id INTEGER NOT NULL AUTO_INCREMENT,
	category VARCHAR(100) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
	since DATETIME NOT NULL,
	run_id INTEGER NOT NULL,
	realised_mase FLOAT NOT NULL,
	backtest_mase FLOAT NOT NULL,
	ratio FLOAT NOT NULL,
	threshold FLOAT NOT NULL,
	reason TEXT NOT NULL,
	reforecast_run_id INTEGER,
	cleared_at DATETIME,
	PRIMARY KEY (id)
)ENGINE=InnoDB CHARSET=utf8mb4;

CREATE INDEX ix_category_drift_category ON category_drift (category, cleared_at);

CREATE TABLE IF NOT EXISTS category_events (
	id INTEGER NOT NULL AUTO_INCREMENT,
	category VARCHAR(100) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
	name VARCHAR(100) NOT NULL,
	start_date DATE NOT NULL,
	end_date DATE NOT NULL,
	kind VARCHAR(20) NOT NULL DEFAULT 'event',
	created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
	PRIMARY KEY (id)
)ENGINE=InnoDB CHARSET=utf8mb4;

CREATE INDEX ix_category_events_category_start ON category_events (category, start_date);

CREATE TABLE IF NOT EXISTS category_products (
	category VARCHAR(100) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
	product_id VARCHAR(100) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
	PRIMARY KEY (category, product_id)
)ENGINE=InnoDB CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS category_realised (
	category VARCHAR(100) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
	run_id INTEGER NOT NULL,
	days INTEGER NOT NULL,
	realised_mase FLOAT NOT NULL,
	backtest_mase FLOAT,
	measured_at DATETIME NOT NULL,
	PRIMARY KEY (category)
)ENGINE=InnoDB CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS category_settings (
	category VARCHAR(100) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
	holiday_country VARCHAR(10),
	holiday_country_default BOOL,
	grain VARCHAR(10),
	horizon INTEGER,
	product_forecasts BOOL,
	drift_threshold FLOAT,
	drift_reforecast BOOL,
	updated_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
	PRIMARY KEY (category)
)ENGINE=InnoDB CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS category_stats (
	category VARCHAR(100) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
	product_count INTEGER NOT NULL DEFAULT '0',
	first_date DATE NOT NULL,
	last_date DATE NOT NULL,
	row_count BIGINT NOT NULL DEFAULT '0',
	updated_at DATETIME NOT NULL,
	PRIMARY KEY (category)
)ENGINE=InnoDB CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS category_targets (
	category VARCHAR(100) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
	month DATE NOT NULL,
	target FLOAT NOT NULL,
	updated_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
	PRIMARY KEY (category, month)
)ENGINE=InnoDB CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS category_webhooks (
	category VARCHAR(100) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
	url VARCHAR(2000) NOT NULL,
	updated_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
	PRIMARY KEY (category)
)ENGINE=InnoDB CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS forecast_backtests (
	id INTEGER NOT NULL AUTO_INCREMENT,
	run_id INTEGER NOT NULL,
	category VARCHAR(100) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
	model_type VARCHAR(20) NOT NULL,
	origin DATE NOT NULL,
	forecast_date DATE NOT NULL,
	forecast_value FLOAT NOT NULL,
	lower_bound FLOAT NOT NULL,
	upper_bound FLOAT NOT NULL,
	actual FLOAT,
	PRIMARY KEY (id)
)ENGINE=InnoDB CHARSET=utf8mb4;

CREATE INDEX ix_forecast_backtests_run ON forecast_backtests (run_id, model_type, origin, forecast_date);

CREATE TABLE IF NOT EXISTS forecast_data (
	id INTEGER NOT NULL AUTO_INCREMENT,
	run_id INTEGER NOT NULL,
	batch_num INTEGER,
	category VARCHAR(100) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
	model_type VARCHAR(20) NOT NULL,
	forecast_date DATE NOT NULL,
	forecast_value FLOAT NOT NULL,
	lower_bound FLOAT NOT NULL,
	upper_bound FLOAT NOT NULL,
	p10 FLOAT,
	p50 FLOAT,
	p90 FLOAT,
	PRIMARY KEY (id)
)ENGINE=InnoDB CHARSET=utf8mb4;

CREATE INDEX ix_forecast_data_category ON forecast_data (category, model_type, forecast_date);

CREATE INDEX ix_forecast_data_run ON forecast_data (run_id, model_type, forecast_date);

CREATE TABLE IF NOT EXISTS forecast_metrics (
	id INTEGER NOT NULL AUTO_INCREMENT,
	run_id INTEGER NOT NULL,
	category VARCHAR(100) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
	model_type VARCHAR(20) NOT NULL,
	mae FLOAT,
	rmse FLOAT,
	smape FLOAT,
	mase FLOAT,
	coverage FLOAT,
	coverage80 FLOAT,
	wql FLOAT,
	error_level FLOAT,
	error_ar FLOAT,
	is_best BOOL NOT NULL DEFAULT '0',
	fit_seconds FLOAT,
	error TEXT,
	PRIMARY KEY (id)
)ENGINE=InnoDB CHARSET=utf8mb4;

CREATE INDEX ix_forecast_metrics_category ON forecast_metrics (category, run_id);

CREATE INDEX ix_forecast_metrics_run ON forecast_metrics (run_id, model_type);

CREATE TABLE IF NOT EXISTS forecast_runs (
	id INTEGER NOT NULL AUTO_INCREMENT,
	category VARCHAR(100) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
	batch_num INTEGER,
	status VARCHAR(20) NOT NULL DEFAULT 'pending',
	horizon_days INTEGER NOT NULL,
	holiday_country VARCHAR(10),
	history_start DATE,
	history_end DATE,
	attempts INTEGER NOT NULL DEFAULT '0',
	created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
	started_at DATETIME,
	finished_at DATETIME,
	error_log TEXT,
	recommended_method TEXT,
	grain VARCHAR(10),
	grain_anchor VARCHAR(20),
	horizon_periods INTEGER,
	grain_problem TEXT,
	naive_scale FLOAT,
	product_status VARCHAR(20),
	products_total INTEGER,
	products_done INTEGER,
	products_skipped INTEGER,
	reconciliation VARCHAR(30),
	reconcile_attempts INTEGER,
	product_note TEXT,
	PRIMARY KEY (id)
)ENGINE=InnoDB CHARSET=utf8mb4;

CREATE INDEX ix_forecast_runs_batch ON forecast_runs (batch_num);

CREATE INDEX ix_forecast_runs_category ON forecast_runs (category, id);

CREATE INDEX ix_forecast_runs_category_status ON forecast_runs (category, status, id);

CREATE TABLE IF NOT EXISTS inventory_settings (
	category VARCHAR(100) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
	lead_time_days INTEGER,
	service_level FLOAT,
	review_days INTEGER,
	order_cost FLOAT,
	unit_cost FLOAT,
	holding_cost_rate FLOAT,
	updated_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
	PRIMARY KEY (category)
)ENGINE=InnoDB CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS invoice_data (
	date DATE NOT NULL,
	product_id VARCHAR(100) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
	category VARCHAR(100) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
	sales NUMERIC(12, 2) NOT NULL,
	is_imputed BOOL NOT NULL DEFAULT '0',
	batch_num INTEGER NOT NULL,
	file_hash CHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
	created_at DATETIME NOT NULL,
	updated_at DATETIME NOT NULL,
	version INTEGER NOT NULL DEFAULT '1',
	PRIMARY KEY (date, product_id, category)
)ENGINE=InnoDB CHARSET=utf8mb4 COLLATE utf8mb4_bin;

CREATE INDEX ix_invoice_category_date ON invoice_data (category, date);

CREATE TABLE IF NOT EXISTS invoice_history (
	batch_num INTEGER NOT NULL,
	date DATE NOT NULL,
	product_id VARCHAR(100) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
	category VARCHAR(100) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
	sales NUMERIC(12, 2) NOT NULL,
	is_imputed BOOL NOT NULL,
	previous_batch_num INTEGER NOT NULL,
	file_hash CHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
	created_at DATETIME NOT NULL,
	updated_at DATETIME NOT NULL,
	version INTEGER NOT NULL,
	PRIMARY KEY (batch_num, date, product_id, category)
)ENGINE=InnoDB CHARSET=utf8mb4 COLLATE utf8mb4_bin;

CREATE TABLE IF NOT EXISTS mapping_profiles (
	name VARCHAR(100) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
	mapping TEXT NOT NULL,
	created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
	updated_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
	PRIMARY KEY (name)
)ENGINE=InnoDB CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS product_chunks (
	run_id INTEGER NOT NULL,
	chunk INTEGER NOT NULL,
	products MEDIUMTEXT NOT NULL,
	status VARCHAR(20) NOT NULL DEFAULT 'pending',
	attempts INTEGER NOT NULL DEFAULT '0',
	result LONGBLOB,
	PRIMARY KEY (run_id, chunk)
)ENGINE=InnoDB CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS product_forecast_data (
	id INTEGER NOT NULL AUTO_INCREMENT,
	run_id INTEGER NOT NULL,
	category VARCHAR(100) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
	product_id VARCHAR(100) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
	model_type VARCHAR(30) NOT NULL,
	forecast_date DATE NOT NULL,
	forecast_value FLOAT NOT NULL,
	lower_bound FLOAT NOT NULL,
	upper_bound FLOAT NOT NULL,
	p10 FLOAT,
	p50 FLOAT,
	p90 FLOAT,
	PRIMARY KEY (id)
)ENGINE=InnoDB CHARSET=utf8mb4;

CREATE INDEX ix_product_forecast_category ON product_forecast_data (category, product_id, forecast_date);

CREATE INDEX ix_product_forecast_run ON product_forecast_data (run_id, product_id, forecast_date);

CREATE TABLE IF NOT EXISTS product_forecast_summaries (
	run_id INTEGER NOT NULL,
	product_id VARCHAR(100) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
	category VARCHAR(100) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
	status VARCHAR(20) NOT NULL,
	method VARCHAR(30),
	mase FLOAT,
	mae FLOAT,
	volume FLOAT NOT NULL DEFAULT '0',
	selling_days INTEGER NOT NULL DEFAULT '0',
	naive_scale FLOAT,
	note TEXT,
	PRIMARY KEY (run_id, product_id)
)ENGINE=InnoDB CHARSET=utf8mb4;

CREATE INDEX ix_product_summary_category ON product_forecast_summaries (category, run_id);

CREATE TABLE IF NOT EXISTS product_stock (
	category VARCHAR(100) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
	product_id VARCHAR(100) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
	on_hand FLOAT NOT NULL,
	lead_time_days INTEGER,
	service_level FLOAT,
	order_cost FLOAT,
	unit_cost FLOAT,
	updated_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
	PRIMARY KEY (category, product_id)
)ENGINE=InnoDB CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS upload_metadata (
	batch_num INTEGER NOT NULL AUTO_INCREMENT,
	original_filename VARCHAR(255) NOT NULL,
	stored_filename VARCHAR(255) NOT NULL,
	file_hash CHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
	mapping TEXT,
	categories_from MEDIUMTEXT,
	mapping_digest VARCHAR(64) NOT NULL DEFAULT '',
	file_size BIGINT NOT NULL DEFAULT '0',
	uploaded_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
	num_total_rows INTEGER NOT NULL DEFAULT '0',
	num_missing_rows INTEGER NOT NULL DEFAULT '0',
	num_imputed_rows INTEGER NOT NULL DEFAULT '0',
	num_inserted_rows INTEGER NOT NULL DEFAULT '0',
	num_updated_rows INTEGER NOT NULL DEFAULT '0',
	num_unchanged_rows INTEGER NOT NULL DEFAULT '0',
	num_rejected_rows INTEGER NOT NULL DEFAULT '0',
	num_filtered_rows INTEGER NOT NULL DEFAULT '0',
	status VARCHAR(20) NOT NULL DEFAULT 'uploaded',
	progress FLOAT NOT NULL DEFAULT '0',
	forecast_status VARCHAR(20),
	error_log TEXT,
	attempts INTEGER NOT NULL DEFAULT '0',
	started_at DATETIME,
	finished_at DATETIME,
	PRIMARY KEY (batch_num),
	CONSTRAINT uq_upload_file_mapping UNIQUE (file_hash, mapping_digest)
)ENGINE=InnoDB CHARSET=utf8mb4;

CREATE INDEX ix_upload_status ON upload_metadata (status);

CREATE TABLE IF NOT EXISTS webhook_attempts (
	id INTEGER NOT NULL AUTO_INCREMENT,
	delivery_id INTEGER NOT NULL,
	attempt INTEGER NOT NULL,
	attempted_at DATETIME NOT NULL,
	status_code INTEGER,
	error VARCHAR(500),
	duration_ms INTEGER NOT NULL DEFAULT '0',
	PRIMARY KEY (id)
)ENGINE=InnoDB CHARSET=utf8mb4;

CREATE INDEX ix_webhook_attempts_delivery ON webhook_attempts (delivery_id, attempt);

CREATE TABLE IF NOT EXISTS webhook_deliveries (
	id INTEGER NOT NULL AUTO_INCREMENT,
	delivery_id VARCHAR(36) NOT NULL,
	dedupe_key CHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
	event VARCHAR(40) NOT NULL,
	url VARCHAR(2000) NOT NULL,
	category VARCHAR(100) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin,
	batch_num INTEGER,
	body TEXT NOT NULL,
	status VARCHAR(20) NOT NULL DEFAULT 'pending',
	attempts INTEGER NOT NULL DEFAULT '0',
	created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
	finished_at DATETIME,
	PRIMARY KEY (id),
	CONSTRAINT uq_webhook_deliveries_dedupe UNIQUE (dedupe_key)
)ENGINE=InnoDB CHARSET=utf8mb4;

CREATE INDEX ix_webhook_deliveries_category ON webhook_deliveries (category, id);

CREATE INDEX ix_webhook_deliveries_event ON webhook_deliveries (event, id);

CREATE INDEX ix_webhook_deliveries_status ON webhook_deliveries (status, id);
